"""Exact change of basis between real spherical harmonics and the 2-D Fourier basis on the torus.

With e3nn's y-polar parametrisation (see :mod:`.legendre`) a degree-≤L function on the sphere,
``f(β, α) = Σ_lm x_lm s_m(α) q_{l|m|}(β)``, extends to the torus ``(β, α) ∈ [0, 2π)²`` as a
trigonometric polynomial whose β-frequencies are ``|u| ≤ L`` and whose α-frequencies are ``±m``:

.. math:: f(\\beta, \\alpha) = \\sum_{|u|\\le L} \\sum_{|v| \\le L} F_{uv}\\, e^{i(u\\beta + v\\alpha)}.

*SH → Fourier.* The polar Fourier coefficients ``Q[l, k, u]`` of ``q_{lk}`` are obtained exactly by
sampling the trigonometric polynomial on ``2L+2`` equispaced points and taking an FFT (float64).
They are folded, per α-frequency ``v``, into real matrices giving the real and imaginary parts of
``F[:, v]`` (``F[:, -v]`` follows from Hermitian symmetry): separable, GEMM-shaped, no dense
``(L+1)² × M²`` basis.

*Fourier → SH.* The coefficient of ``Y_lm`` of a torus trigonometric polynomial ``P`` is
``2π ∫_0^π h_m(β) q_{l|m|}(β) sin β dβ`` where ``h_m`` is the α-component of order ``m``; it is computed
from the exact integrals

.. math:: \\int_0^\\pi e^{in\\beta}\\sin\\beta\\,d\\beta = \\frac{1 + (-1)^n}{1 - n^2}\\ (n \\ne \\pm 1),
   \\qquad \\pm\\frac{i\\pi}{2}\\ (n = \\pm 1),

again folded into one real matrix per order. Products of functions are computed on a torus grid of
size ``Mβ × Mα`` with ``Mβ ≥ 2(L1+L2)+1`` (no wrap-around in β) and ``Mα ≥ L1+L2+Lout+1``
(α-frequencies above ``Lout`` may alias only onto frequencies that are discarded).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch

from .legendre import polar_legendre, sh_index

__all__ = [
    "polar_fourier_coefficients",
    "sin_weighted_integral",
    "fft_size",
    "fourier_synthesis_tables",
    "fourier_analysis_tables",
]


def fft_size(n: int) -> int:
    """Smallest even integer ``≥ n`` whose prime factors are 2, 3 and 5 (fast FFT length)."""
    m = max(2, n + (n % 2))
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 2


@cache
def _polar_fourier_np(lmax: int) -> np.ndarray:
    n = 2 * lmax + 2
    beta = 2 * math.pi * np.arange(n) / n
    q = polar_legendre(lmax, beta)  # (l, k, n)
    coef = np.fft.fft(q, axis=-1) / n  # exact: degree-l trig polynomials sampled on 2l+2 points
    # reorder to u = -lmax..lmax
    u = np.arange(-lmax, lmax + 1)
    out = coef[..., u % n]
    # even k: real & symmetric; odd k: imaginary & antisymmetric (exactly, up to rounding)
    k_odd = (np.arange(lmax + 1) % 2 == 1)[None, :, None]
    out = np.where(k_odd, 1j * out.imag, out.real + 0j)
    out.setflags(write=False)
    return out


def polar_fourier_coefficients(lmax: int) -> torch.Tensor:
    """Complex Fourier coefficients of the polar factors: ``q_{lk}(β) = Σ_u Q[l, k, u+lmax] e^{iuβ}``.

    Returns:
        complex128 tensor of shape ``(lmax+1, lmax+1, 2lmax+1)``, real for even ``k`` and imaginary for
        odd ``k``; zero for ``k > l`` or ``|u| > l``.
    """
    if lmax < 0:
        raise ValueError(f"lmax must be >= 0, got {lmax}")
    return torch.from_numpy(_polar_fourier_np(lmax).copy())


def sin_weighted_integral(n) -> np.ndarray:
    """Exact ``∫_0^π e^{inβ} sin β dβ`` for integer ``n`` (array-like), complex128."""
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros(n.shape, dtype=np.complex128)
    even = n % 2 == 0
    out[even] = 2.0 / (1.0 - n[even].astype(np.float64) ** 2)
    out[n == 1] = 0.5j * math.pi
    out[n == -1] = -0.5j * math.pi
    return out


@cache
def fourier_synthesis_tables(lmax: int, m_beta: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real matrices mapping SH coefficients to the half-spectrum ``F[u, v]`` (``v ≥ 0``) on the torus.

    Row ``2v + p`` of the batch (``p = 0`` real part, ``p = 1`` imaginary part) is a ``(Mβ, lmax+1)``
    matrix acting on the coefficients ``x[l, m_src]`` (``l = 0..lmax``) of one source order ``m_src``;
    ``u`` is stored wrapped modulo ``Mβ``. With ``f = Σ_lm x_lm Y_lm``:
    ``F[:, v] = (G_v - i G_{-v}) / √2`` for ``v > 0`` and ``F[:, 0] = G_0``, ``G_m`` the β-spectrum of
    ``Σ_l x_lm q_{l|m|}``.

    Returns:
        ``(matrices, index)``: float64 ``(2(lmax+1), Mβ, lmax+1)`` and int64 ``(2(lmax+1), lmax+1)``
        positions (e3nn ordering) of the source coefficients (0 where the matrix column is zero).
    """
    if m_beta < 2 * lmax + 1:
        raise ValueError(f"m_beta must be >= 2*lmax+1 = {2 * lmax + 1}, got {m_beta}")
    q = _polar_fourier_np(lmax)  # (l, k, u)
    u = np.arange(-lmax, lmax + 1)
    mats = np.zeros((2 * (lmax + 1), m_beta, lmax + 1))
    index = np.zeros((2 * (lmax + 1), lmax + 1), dtype=np.int64)
    r2 = math.sqrt(2.0)
    for v in range(lmax + 1):
        blk = q[:, v, :].T  # (u, l)
        if v == 0:
            parts = [(0, blk.real), (None, None)]
        elif v % 2 == 0:
            parts = [(v, blk.real / r2), (-v, -blk.real / r2)]
        else:
            parts = [(-v, blk.imag / r2), (v, blk.imag / r2)]
        for p, (m_src, mat) in enumerate(parts):
            if m_src is None:
                continue
            row = 2 * v + p
            np.add.at(mats[row], u % m_beta, mat)
            for l in range(abs(m_src), lmax + 1):  # noqa: E741
                index[row, l] = sh_index(l, m_src)
            mats[row, :, : abs(m_src)] = 0.0
    return torch.from_numpy(mats), torch.from_numpy(index)


@cache
def fourier_analysis_tables(lmax_out: int, m_beta: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real matrices mapping the half-spectrum ``P[u, v]`` of a torus function to SH coefficients.

    For ``v = |m|``: ``y_{·, m} = T[v, s] @ [Re P[:, v]; Im P[:, v]]`` with ``s = 0`` for ``m ≥ 0`` and
    ``s = 1`` for ``m < 0``, from the exact sin-weighted Fourier integrals. ``u`` is wrapped modulo
    ``Mβ`` and read as the signed frequency in ``[-Mβ/2, Mβ/2)``.

    Returns:
        ``(matrices, index)``: float64 ``(lmax_out+1, 2, lmax_out+1, 2Mβ)`` and int64 ``((lmax_out+1)²,)``
        positions of the e3nn-ordered outputs in the flattened ``(v, s, l)`` result.
    """
    lo = lmax_out
    q = _polar_fourier_np(lo)  # (l, k, w), w = -lo..lo
    w = np.arange(-lo, lo + 1)
    u = np.arange(m_beta)
    u = np.where(u < (m_beta + 1) // 2, u, u - m_beta)  # signed frequencies
    integ = sin_weighted_integral(u[:, None] + w[None, :])  # (u, w)
    # J[u, l, k] = ∫_0^π e^{iuβ} q_lk(β) sin β dβ
    jmat = np.einsum("uw,lkw->ulk", integ, q)
    cos_i, sin_i = jmat.real, jmat.imag
    mats = np.zeros((lo + 1, 2, lo + 1, 2 * m_beta))
    r2 = math.sqrt(2.0)
    two_pi = 2.0 * math.pi
    for v in range(lo + 1):
        c, s = cos_i[:, :, v].T, sin_i[:, :, v].T  # (l, u)
        if v == 0:
            mats[0, 0] = two_pi * np.concatenate([c, -s], axis=1)
        else:
            mats[v, 0] = two_pi * r2 * np.concatenate([c, -s], axis=1)
            mats[v, 1] = -two_pi * r2 * np.concatenate([s, c], axis=1)
        mats[v, :, :v] = 0.0
    index = np.array(
        [(abs(m) * 2 + (1 if m < 0 else 0)) * (lo + 1) + l for l in range(lo + 1) for m in range(-l, l + 1)],
        dtype=np.int64,
    )
    return torch.from_numpy(mats), torch.from_numpy(index)
