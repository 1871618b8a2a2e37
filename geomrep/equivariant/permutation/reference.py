"""Reference twins of :class:`PermutationEquivariantLinear` (tests and benchmarks only).

- :class:`DenseBasisLinear`: multiplies by the dense ``(num_basis, nˡ, nᵏ)`` basis matrices, as
  Pearce-Crump's S_n code does (one dense matrix per basis element): ``O(num_basis · n^{k+l})`` memory.
- :class:`MaronLinear2to2`: a PyTorch port of the 2→2 layer of Maron et al. (ICLR 2019, "Invariant
  and equivariant graph networks"): the 15 basis operations of ``(batch, C, n, n)`` inputs are
  computed explicitly, stacked into a ``(batch, C, 15, n, n)`` tensor and contracted with the
  ``(C_in, C_out, 15)`` coefficients in one einsum; their biases are a constant and a diagonal
  constant per output channel. Operations 2–9 and 14 are divided by ``n``, 5 and 15 by ``n²``
  (their ``normalization="inf"`` default).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .basis import equivariant_basis

__all__ = ["DenseBasisLinear", "MaronLinear2to2", "maron_ops_2_to_2"]


class DenseBasisLinear(nn.Module):
    """``y = Σ_b W_b (B_b x)`` with the dense basis ``B`` of :func:`equivariant_basis` (a buffer).

    Same weights layout and basis order as :class:`PermutationEquivariantLinear` (no bias), so the two
    agree exactly given the same ``weight``.

    Shapes: ``(batch, C_in, n, …, n)`` (k axes) → ``(batch, C_out, n, …, n)`` (l axes).
    """

    def __init__(self, n: int, k: int, l: int, in_channels: int, out_channels: int, group: str = "symmetric"):  # noqa: E741
        super().__init__()
        self.n, self.k, self.l = n, k, l
        basis = equivariant_basis(n, k, l, group, dtype=torch.float64)
        self.register_buffer("basis", basis.to(torch.get_default_dtype()), persistent=False)
        self.weight = nn.Parameter(
            torch.randn(out_channels, in_channels, basis.shape[0]) / math.sqrt(in_channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        flat = x.reshape(batch, x.shape[1], -1)
        y = torch.einsum("bIJ,ZcJ,ocb->ZoI", self.basis.to(x.dtype), flat, self.weight)
        return y.reshape(batch, self.weight.shape[0], *([self.n] * self.l))


def maron_ops_2_to_2(x: torch.Tensor, normalize: bool = True) -> list[torch.Tensor]:
    """Maron et al.'s 15 S_n-equivariant operations on ``(batch, C, n, n)``, each ``(batch, C, n, n)``."""
    n = x.shape[-1]
    diag = torch.diagonal(x, dim1=-2, dim2=-1)  # (B, C, n)
    sum_diag = diag.sum(dim=-1, keepdim=True)  # (B, C, 1)
    rows = x.sum(dim=-1)  # (B, C, n): sum of row i
    cols = x.sum(dim=-2)  # (B, C, n): sum of column i
    total = rows.sum(dim=-1)  # (B, C)
    ops = [
        torch.diag_embed(diag),  # 1: the diagonal
        torch.diag_embed(sum_diag.expand_as(diag)),  # 2: trace on the diagonal
        torch.diag_embed(rows),  # 3: row sums on the diagonal
        torch.diag_embed(cols),  # 4: column sums on the diagonal
        torch.diag_embed(total[..., None].expand_as(diag)),  # 5: total on the diagonal
        cols[..., :, None].expand_as(x),  # 6: column sum i on row i
        rows[..., :, None].expand_as(x),  # 7: row sum i on row i
        cols[..., None, :].expand_as(x),  # 8: column sum j on column j
        rows[..., None, :].expand_as(x),  # 9: row sum j on column j
        x,  # 10: identity
        x.transpose(-1, -2),  # 11: transpose
        diag[..., :, None].expand_as(x),  # 12: x_ii on row i
        diag[..., None, :].expand_as(x),  # 13: x_jj on column j
        sum_diag[..., None].expand_as(x),  # 14: trace everywhere
        total[..., None, None].expand_as(x),  # 15: total everywhere
    ]
    if normalize:  # "inf" normalisation: ops 2-4, 6-9, 14 divided by n; 5 and 15 by n²
        powers = (0, 1, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2)
        ops = [op / n**p if p else op for op, p in zip(ops, powers)]
    return ops


class MaronLinear2to2(nn.Module):
    """Maron et al.'s 2→2 equivariant layer: stack the 15 operations, one einsum, two biases.

    Shapes: ``(batch, C_in, n, n)`` → ``(batch, C_out, n, n)``.
    """

    def __init__(self, in_channels: int, out_channels: int, normalize: bool = True):
        super().__init__()
        self.normalize = normalize
        self.coeffs = nn.Parameter(
            torch.randn(in_channels, out_channels, 15) * math.sqrt(2.0 / (in_channels + out_channels))
        )
        self.diag_bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.all_bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        stacked = torch.stack(maron_ops_2_to_2(x, self.normalize), dim=2)  # (B, C, 15, n, n)
        y = torch.einsum("dsb,ndbij->nsij", self.coeffs, stacked)
        eye = torch.eye(n, dtype=x.dtype, device=x.device)
        return y + self.all_bias + eye * self.diag_bias
