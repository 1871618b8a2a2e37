"""Spherical-harmonic ↔ sample transforms shared by the Gaunt product backends (functional core).

Each backend represents a degree-≤L function by samples that multiply pointwise:

- ``"fft"``: samples on an ``Mα × Mβ`` torus grid, reached from the exact 2-D Fourier coefficients
  (:mod:`.fourier_basis`) with one real GEMM per order and a 2-D real inverse FFT;
- ``"grid"``: samples on a Gauss–Legendre × equispaced S² grid (:mod:`.s2_grid`), reached with one
  GEMM per order in β and one real DFT GEMM in α.

Samples are laid out *batch-last*, shape ``(Nα, Nβ, B)``, so every matrix product runs over all
``B`` rows (batch × channels) at once and no layout shuffles are needed between steps.
Tables are float64 constants built once; :class:`TransformPlan` holds them cast to one dtype/device.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import torch

from .fourier_basis import fft_size, fourier_analysis_tables, fourier_synthesis_tables
from .gather import take
from .s2_grid import grid_analysis_tables, grid_size, grid_synthesis_tables

__all__ = [
    "BACKENDS",
    "SampleGrid",
    "sample_grid",
    "synthesis_tables",
    "analysis_tables",
    "synthesis",
    "analysis",
]

BACKENDS = ("fft", "grid", "dense")


@dataclass(frozen=True)
class SampleGrid:
    """Sampling grid of a backend: ``backend`` in ``{"fft", "grid"}`` and its size ``(n_alpha, n_beta)``."""

    backend: str
    n_alpha: int
    n_beta: int


def sample_grid(backend: str, product_degree: int, lmax_out: int) -> SampleGrid:
    """Smallest grid on which products of total degree ``product_degree`` are exact up to ``lmax_out``.

    Args:
        backend: ``"fft"`` (torus: ``Mβ ≥ 2D+1``, ``Mα ≥ D+Lout+1``, FFT-friendly sizes) or ``"grid"``
            (Gauss–Legendre: ``Nβ ≥ (D+Lout)/2+1``, ``Nα ≥ D+Lout+1``).
        product_degree: degree ``D`` of the sampled product (``L1 + L2`` for two factors).
        lmax_out: largest output degree.
    """
    if backend == "fft":
        # Mα ≥ 2·Lout as well, so the half spectrum holds every output order (Lout > D + 1 otherwise crashes)
        n_alpha = fft_size(max(product_degree + lmax_out + 1, 2 * lmax_out))
        return SampleGrid("fft", n_alpha, fft_size(2 * product_degree + 1))
    if backend == "grid":
        n_beta, n_alpha = grid_size(product_degree + lmax_out)
        return SampleGrid("grid", n_alpha, n_beta)
    raise ValueError(f"backend must be 'fft' or 'grid' for sampling, got {backend!r}")


@cache
def synthesis_tables(lmax: int, grid: SampleGrid) -> tuple[torch.Tensor, ...]:
    """float64 tables for :func:`synthesis` (cached)."""
    n = (lmax + 1) ** 2
    if grid.backend == "fft":
        mats, index = fourier_synthesis_tables(lmax, grid.n_beta)
        return mats, index.reshape(-1), _inverse(_valid(index, mats), n)
    polar, index, azimuth = grid_synthesis_tables(lmax, grid.n_beta, grid.n_alpha)
    return polar, index.reshape(-1), _inverse(_valid(index, polar), n), azimuth


def _valid(index: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """``index`` with padding positions (all-zero matrix columns) replaced by -1."""
    used = mats.abs().amax(dim=1) > 0  # (rows, l)
    return torch.where(used, index, torch.full_like(index, -1)).reshape(-1)


@cache
def analysis_tables(lmax_out: int, grid: SampleGrid) -> tuple[torch.Tensor, ...]:
    """float64 tables for :func:`analysis` (cached)."""
    if grid.backend == "fft":
        return fourier_analysis_tables(lmax_out, grid.n_beta)
    return grid_analysis_tables(lmax_out, grid.n_beta, grid.n_alpha)


def _inverse(index: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Position in ``index`` of the first occurrence of each row ``0..n_rows-1``."""
    inv = torch.full((n_rows,), -1, dtype=torch.int64)
    for pos in range(index.numel() - 1, -1, -1):
        if index[pos] >= 0:
            inv[index[pos]] = pos
    if (inv < 0).any():
        raise ValueError("every input row must be gathered at least once")
    return inv


class _SelectRows(torch.autograd.Function):
    """``x.index_select(0, index)`` for an injective ``index``; backward is an ``index_copy``."""

    @staticmethod
    def forward(x, index):
        return x.index_select(0, index)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])
        ctx.n_rows = inputs[0].shape[0]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        full = grad.new_zeros((ctx.n_rows,) + grad.shape[1:])
        return full.index_copy(0, index, grad), None


@lru_cache(maxsize=256)
def _cast(
    tables: tuple[torch.Tensor, ...], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    return tuple(
        t.to(device=device) if t.dtype == torch.int64 else t.to(dtype=dtype, device=device) for t in tables
    )


def cast_tables(
    tables: tuple[torch.Tensor, ...], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Tables cast to ``dtype``/``device`` (integer index tables keep their dtype); cached per target."""
    return _cast(tables, dtype, torch.device(device))


def synthesis(xt: torch.Tensor, grid: SampleGrid, tables: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Samples of ``f = Σ x_lm Y_lm`` on ``grid``.

    Args:
        xt: coefficients, batch-last ``((L+1)², B)`` (any strides).
        grid: the sampling grid.
        tables: :func:`synthesis_tables` output cast to ``xt``'s dtype/device.

    Returns:
        samples: ``(Nα, Nβ, B)`` for ``"grid"``, ``(B, Mβ, Mα)`` for ``"fft"`` (each backend's fastest
        layout; only :func:`analysis` of the same grid reads them).
    """
    b = xt.shape[-1]
    if grid.backend == "fft":
        mats, index, inverse = tables
        n_rows, _, lp1 = mats.shape
        if b == 0:  # an empty permuted tensor counts as contiguous but has no unit stride: no complex view
            return xt.new_zeros(0, grid.n_beta, grid.n_alpha) + xt.sum()  # + sum: stays in the graph
        xg = take(xt, index, inverse, dim=0, pad=False).view(n_rows, lp1, b)
        spec = torch.bmm(mats, xg).view(n_rows // 2, 2, grid.n_beta, b)
        # batch-first, (u, v) contiguous for the FFT: (B, Mβ, V, 2) -> complex (B, Mβ, V)
        spec = torch.view_as_complex(spec.permute(3, 2, 0, 1).contiguous())
        f = torch.fft.irfft2(spec, s=(grid.n_beta, grid.n_alpha), norm="forward")  # (B, Mβ, Mα)
        return f
    polar, index, inverse, azimuth = tables
    n_m, _, lp1 = polar.shape
    xg = take(xt, index, inverse, dim=0, pad=False).view(n_m, lp1, b)
    g = torch.bmm(polar, xg)  # (2L+1, Nβ, B)
    return torch.mm(azimuth, g.view(n_m, grid.n_beta * b)).view(grid.n_alpha, grid.n_beta, b)


def analysis(p: torch.Tensor, grid: SampleGrid, tables: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """SH coefficients (up to the tables' ``lmax_out``) of the function sampled as ``p`` on ``grid``.

    Args:
        p: samples (layout of :func:`synthesis`) of a function whose degree the grid resolves.
        grid: the sampling grid.
        tables: :func:`analysis_tables` output cast to ``p``'s dtype/device.

    Returns:
        batch-last coefficients ``((Lout+1)², B)``.
    """
    b = p.shape[-1]
    if grid.backend == "fft":
        mats, index = tables
        v = mats.shape[0]
        b = p.shape[0]
        if b == 0:
            return p.new_zeros(index.shape[0], 0) + p.sum()
        spec = torch.fft.rfft2(p, norm="forward")[..., :v]  # (B, Mβ, v)
        re_im = torch.view_as_real(spec).permute(2, 3, 1, 0).reshape(v, 1, 2 * grid.n_beta, b)
        y = torch.matmul(mats, re_im)  # (v, 2, Lout+1, B)
        return _SelectRows.apply(y.flatten(0, -2), index)
    azimuth, polar, index = tables
    n_m = azimuth.shape[0]
    h = torch.mm(azimuth, p.reshape(grid.n_alpha, grid.n_beta * b)).view(n_m, grid.n_beta, b)
    y = torch.bmm(polar, h)  # (2Lout+1, Lout+1, B)
    return _SelectRows.apply(y.flatten(0, -2), index)
