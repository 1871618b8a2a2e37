"""Exact sampling of real spherical harmonics on a Gauss–Legendre × equispaced S² grid.

Nodes: ``cos β_j`` are the ``Nβ`` Gauss–Legendre nodes on [-1, 1] (weights ``w_j``), ``α_k = 2πk/Nα``.
Synthesis ``f(β_j, α_k) = Σ_m s_m(α_k) Σ_l x_lm q_{l|m|}(β_j)`` is exact for any grid. Analysis

.. math:: y_{lm} = \\sum_j w_j q_{l|m|}(\\beta_j) \\frac{2\\pi}{N_\\alpha}
   \\sum_k s_m(\\alpha_k) p(\\beta_j, \\alpha_k)

is the exact SH coefficient of ``p`` when ``p · Y_lm`` is integrated exactly: for ``p`` of degree
``D`` and outputs up to ``Lout`` this needs ``Nβ ≥ (D + Lout + 1)/2`` and ``Nα ≥ D + Lout + 1``.
Both directions are separable: one small matrix per order ``m`` in β and one dense real DFT matrix
in α (every step a GEMM batched over all channels).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch

from .legendre import azimuthal_basis, polar_legendre, sh_index

__all__ = ["grid_size", "grid_synthesis_tables", "grid_analysis_tables"]


def grid_size(total_degree: int) -> tuple[int, int]:
    """``(Nβ, Nα)`` integrating spherical polynomials of degree ``total_degree`` exactly."""
    if total_degree < 0:
        raise ValueError(f"total_degree must be >= 0, got {total_degree}")
    return total_degree // 2 + 1, total_degree + 1


def _nodes(n_beta: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n_beta)
    return np.arccos(x), w


@cache
def grid_synthesis_tables(
    lmax: int, n_beta: int, n_alpha: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tables for ``SH → grid``.

    Returns:
        ``(polar, index, azimuth)``: float64 ``(2lmax+1, Nβ, lmax+1)`` with ``polar[m+lmax, j, l] =
        q_{l|m|}(β_j)``; int64 ``(2lmax+1, lmax+1)`` e3nn positions of ``x_lm`` (0 where the column is
        zero); float64 ``(Nα, 2lmax+1)`` with ``azimuth[k, m+lmax] = s_m(α_k)``.
    """
    beta, _ = _nodes(n_beta)
    q = polar_legendre(lmax, beta)  # (l, k, j)
    polar = np.zeros((2 * lmax + 1, n_beta, lmax + 1))
    index = np.zeros((2 * lmax + 1, lmax + 1), dtype=np.int64)
    for m in range(-lmax, lmax + 1):
        for l in range(abs(m), lmax + 1):  # noqa: E741
            polar[m + lmax, :, l] = q[l, abs(m)]
            index[m + lmax, l] = sh_index(l, m)
    alpha = 2 * math.pi * np.arange(n_alpha) / n_alpha
    azimuth = azimuthal_basis(lmax, alpha).T
    return torch.from_numpy(polar), torch.from_numpy(index), torch.from_numpy(np.ascontiguousarray(azimuth))


@cache
def grid_analysis_tables(
    lmax: int, n_beta: int, n_alpha: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tables for ``grid → SH`` (exact quadrature, constants folded in).

    Returns:
        ``(azimuth, polar, index)``: float64 ``(2lmax+1, Nα)`` = ``(2π/Nα) s_m(α_k)``; float64
        ``(2lmax+1, lmax+1, Nβ)`` = ``w_j q_{l|m|}(β_j)``; int64 ``((lmax+1)²,)`` positions of the
        e3nn-ordered outputs in the flattened ``(m, l)`` result.
    """
    beta, w = _nodes(n_beta)
    q = polar_legendre(lmax, beta)
    polar = np.zeros((2 * lmax + 1, lmax + 1, n_beta))
    for m in range(-lmax, lmax + 1):
        polar[m + lmax] = q[:, abs(m), :] * w[None, :]
    alpha = 2 * math.pi * np.arange(n_alpha) / n_alpha
    azimuth = azimuthal_basis(lmax, alpha) * (2 * math.pi / n_alpha)
    index = np.array(
        [(m + lmax) * (lmax + 1) + l for l in range(lmax + 1) for m in range(-l, l + 1)], dtype=np.int64
    )
    return torch.from_numpy(azimuth), torch.from_numpy(polar), torch.from_numpy(index)
