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
        return SampleGrid("fft", fft_size(product_degree + lmax_out + 1), fft_size(2 * product_degree + 1))
    if backend == "grid":
        n_beta, n_alpha = grid_size(product_degree + lmax_out)
        return SampleGrid("grid", n_alpha, n_beta)
    raise ValueError(f"backend must be 'fft' or 'grid' for sampling, got {backend!r}")


@cache
def synthesis_tables(lmax: int, grid: SampleGrid) -> tuple[torch.Tensor, ...]:
    """float64 tables for :func:`synthesis` (cached)."""
    if grid.backend == "fft":
        mats, index = fourier_synthesis_tables(lmax, grid.n_beta)
        return mats, index.reshape(-1)
    polar, index, azimuth = grid_synthesis_tables(lmax, grid.n_beta, grid.n_alpha)
    return polar, index.reshape(-1), azimuth


@cache
def analysis_tables(lmax_out: int, grid: SampleGrid) -> tuple[torch.Tensor, ...]:
    """float64 tables for :func:`analysis` (cached)."""
    if grid.backend == "fft":
        return fourier_analysis_tables(lmax_out, grid.n_beta)
    return grid_analysis_tables(lmax_out, grid.n_beta, grid.n_alpha)


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
        samples ``(Nα, Nβ, B)``.
    """
    b = xt.shape[-1]
    if grid.backend == "fft":
        mats, index = tables
        n_rows, _, lp1 = mats.shape
        xg = xt.index_select(0, index).view(n_rows, lp1, b)
        spec = torch.bmm(mats, xg).view(n_rows // 2, 2, grid.n_beta, b)
        spec = torch.complex(spec[:, 0], spec[:, 1])  # (v, u, B)
        return torch.fft.irfft2(spec, s=(grid.n_beta, grid.n_alpha), dim=(1, 0), norm="forward")
    polar, index, azimuth = tables
    n_m, _, lp1 = polar.shape
    xg = xt.index_select(0, index).view(n_m, lp1, b)
    g = torch.bmm(polar, xg)  # (2L+1, Nβ, B)
    return torch.mm(azimuth, g.view(n_m, -1)).view(grid.n_alpha, grid.n_beta, b)


def analysis(p: torch.Tensor, grid: SampleGrid, tables: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """SH coefficients (up to the tables' ``lmax_out``) of the function sampled as ``p`` on ``grid``.

    Args:
        p: samples ``(Nα, Nβ, B)`` of a function whose degree the grid resolves.
        grid: the sampling grid.
        tables: :func:`analysis_tables` output cast to ``p``'s dtype/device.

    Returns:
        batch-last coefficients ``((Lout+1)², B)``.
    """
    b = p.shape[-1]
    if grid.backend == "fft":
        mats, index = tables
        v = mats.shape[0]
        spec = torch.fft.rfft2(p, dim=(1, 0), norm="forward")[:v]  # (v, u, B)
        re_im = torch.view_as_real(spec).permute(0, 3, 1, 2).reshape(v, 1, 2 * grid.n_beta, b)
        y = torch.matmul(mats, re_im)  # (v, 2, Lout+1, B)
        return y.reshape(-1, b).index_select(0, index)
    azimuth, polar, index = tables
    n_m = azimuth.shape[0]
    h = torch.mm(azimuth, p.reshape(grid.n_alpha, -1)).view(n_m, grid.n_beta, b)
    y = torch.bmm(polar, h)  # (2Lout+1, Lout+1, B)
    return y.reshape(-1, b).index_select(0, index)
