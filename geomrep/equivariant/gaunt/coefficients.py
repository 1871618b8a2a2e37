"""Exact real Gaunt coefficients (the ``c · 3j`` reference) and the dense Gaunt tensor.

For e3nn's real orthonormal spherical harmonics (``normalization="integral"``) the Gaunt coefficient

.. math:: G^{l_1 l_2 l_3}_{m_1 m_2 m_3} = \\int_{S^2} Y_{l_1 m_1} Y_{l_2 m_2} Y_{l_3 m_3}\\, d\\Omega

is, block by block, ``c(l1, l2, l3) · wigner_3j(l1, l2, l3)`` (e3nn's real 3j) with

.. math:: c = \\sqrt{\\frac{(2l_1+1)(2l_2+1)(2l_3+1)}{4\\pi}}\\,
   \\left|\\begin{pmatrix} l_1 & l_2 & l_3 \\\\ 0 & 0 & 0 \\end{pmatrix}\\right|,

and it vanishes unless ``l1 + l2 + l3`` is even and the triangle inequality holds. Consequently, for
two functions with SH coefficients ``x1``, ``x2``, the SH coefficients of their pointwise product are
``(x1 ⊗ x2) · G``. Here the coefficients are computed independently of e3nn: the polar triple
integrals come from Racah's formula for 3j symbols in exact rational arithmetic, the azimuthal
integrals in closed form; everything is returned in float64.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache, lru_cache

import numpy as np
import torch

from .dtypes import check_table_dtype

__all__ = ["wigner_3j_complex", "gaunt_constant", "gaunt_block", "gaunt_tensor", "gaunt_paths"]


def _check_degree(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


@cache
def _factorial(n: int) -> int:
    return math.factorial(n)


@cache
def _racah(j1: int, j2: int, j3: int, m1: int, m2: int) -> tuple[int, Fraction, Fraction]:
    """3j symbol (j1 j2 j3; m1 m2 -m1-m2) as sign · sqrt(R) · S with exact rationals R, S."""
    m3 = -m1 - m2
    if not (abs(j1 - j2) <= j3 <= j1 + j2) or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 1, Fraction(0), Fraction(0)
    f = _factorial
    r = Fraction(f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3), f(j1 + j2 + j3 + 1))
    r *= f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3)
    kmin = max(0, j2 - j3 - m1, j1 - j3 + m2)
    kmax = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    s = Fraction(0)
    for k in range(kmin, kmax + 1):
        den = (
            f(k)
            * f(j3 - j2 + k + m1)
            * f(j3 - j1 + k - m2)
            * f(j1 + j2 - j3 - k)
            * f(j1 - k - m1)
            * f(j2 - k + m2)
        )
        s += Fraction((-1) ** k, den)
    sign = -1 if (j1 - j2 - m3) % 2 else 1
    return sign, r, s


def wigner_3j_complex(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    """Wigner 3j symbol ``(j1 j2 j3; m1 m2 m3)`` (standard complex basis), float64 from exact rationals.

    Example:
        >>> round(wigner_3j_complex(1, 1, 0, 0, 0, 0) ** 2, 12)
        0.333333333333
    """
    if m1 + m2 + m3 != 0:
        return 0.0
    sign, r, s = _racah(j1, j2, j3, m1, m2)
    return sign * math.sqrt(r) * float(s) if s else 0.0


def _three_j_zero(l1: int, l2: int, l3: int) -> tuple[int, Fraction]:
    """(l1 l2 l3; 0 0 0) = sign · sqrt(R) (closed form, exact), for even l1 + l2 + l3."""
    j = l1 + l2 + l3
    g = j // 2
    f = _factorial
    r = Fraction(f(j - 2 * l1) * f(j - 2 * l2) * f(j - 2 * l3), f(j + 1))
    r *= Fraction(f(g), f(g - l1) * f(g - l2) * f(g - l3)) ** 2
    return (-1) ** g, r


def _admissible(l1: int, l2: int, l3: int) -> bool:
    return abs(l1 - l2) <= l3 <= l1 + l2 and (l1 + l2 + l3) % 2 == 0


def gaunt_constant(l1: int, l2: int, l3: int) -> float:
    """``c = sqrt((2l1+1)(2l2+1)(2l3+1)/(4π)) · |(l1 l2 l3; 0 0 0)|`` (0 for non-Gaunt triples).

    The Gaunt block equals ``c · e3nn.o3.wigner_3j(l1, l2, l3)``.

    Example:
        >>> round(gaunt_constant(0, 0, 0) * (4 * math.pi) ** 0.5, 12)
        1.0
    """
    l1, l2, l3 = (_check_degree(n, v) for n, v in (("l1", l1), ("l2", l2), ("l3", l3)))
    if not _admissible(l1, l2, l3):
        return 0.0
    _, r = _three_j_zero(l1, l2, l3)
    return math.sqrt(r * (2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1)) / math.sqrt(4 * math.pi)


@cache
def _polar_triple(l1: int, l2: int, l3: int, k1: int, k2: int, k3: int) -> float:
    """T = ∫_0^π q_{l1k1} q_{l2k2} q_{l3k3} sin β dβ (k ≥ 0), from the complex Gaunt coefficient."""
    ks = [k1, k2, k3]
    big = max(range(3), key=lambda i: ks[i])
    if 2 * ks[big] != k1 + k2 + k3:
        return 0.0
    ms = [k if i != big else -k for i, k in enumerate(ks)]
    phase = (-1) ** sum(k for i, k in enumerate(ks) if i != big and k > 0)
    s0, r0 = _three_j_zero(l1, l2, l3)
    sign, r, s = _racah(l1, l2, l3, ms[0], ms[1])
    if not s:
        return 0.0
    mag = math.sqrt(r0 * r * (2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1))
    return s0 * sign * phase * mag * float(s) / (math.sqrt(4 * math.pi) * 2 * math.pi)


@cache
def _azimuthal_triple(lmax: int) -> np.ndarray:
    """A[m1, m2, m3] = ∫_0^{2π} s_{m1} s_{m2} s_{m3} dα for |m| ≤ lmax, in closed form."""
    n = 2 * lmax + 1
    a = np.zeros((n, n, n))
    r2 = math.sqrt(2.0)

    def factor(m):  # s_m = amp · (cos|sin)(|m| α)
        return (1.0 if m == 0 else r2), ("c" if m >= 0 else "s"), abs(m)

    for i1 in range(n):
        for i2 in range(n):
            for i3 in range(n):
                terms = [factor(i - lmax) for i in (i1, i2, i3)]
                amp = terms[0][0] * terms[1][0] * terms[2][0]
                kinds = "".join(sorted(t[1] for t in terms))
                k = [t[2] for t in terms]
                # ∫ over [0, 2π) of products of three cos/sin with frequencies k
                if kinds == "ccc":
                    val = sum(
                        2 * math.pi / 4 * (1 if s1 * k[0] + s2 * k[1] + k[2] == 0 else 0)
                        for s1 in (1, -1)
                        for s2 in (1, -1)
                    )
                elif kinds == "css":
                    kc = next(t[2] for t in terms if t[1] == "c")
                    ka, kb = [t[2] for t in terms if t[1] == "s"]
                    # sin a sin b cos c = (cos(a-b) - cos(a+b)) cos c / 2
                    val = (
                        math.pi
                        / 2
                        * (
                            (1 if ka - kb + kc == 0 else 0)
                            + (1 if ka - kb - kc == 0 else 0)
                            - (1 if ka + kb - kc == 0 else 0)
                            - (1 if ka + kb + kc == 0 else 0)
                        )
                    )
                else:  # an odd number of sines integrates to zero
                    val = 0.0
                a[i1, i2, i3] = amp * val
    return a


@cache
def _gaunt_block_np(l1: int, l2: int, l3: int) -> np.ndarray:
    out = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    if not _admissible(l1, l2, l3):
        return out
    lm = max(l1, l2, l3)
    az = _azimuthal_triple(lm)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            k1, k2 = abs(m1), abs(m2)
            for k3 in {k1 + k2, abs(k1 - k2)}:
                if k3 > l3:
                    continue
                t = _polar_triple(l1, l2, l3, k1, k2, k3)
                if t == 0.0:
                    continue
                for m3 in {k3, -k3}:
                    a = az[lm + m1, lm + m2, lm + m3]
                    if a != 0.0:
                        out[l1 + m1, l2 + m2, l3 + m3] = a * t
    out.setflags(write=False)
    return out


def gaunt_block(l1: int, l2: int, l3: int, dtype=None, device=None) -> torch.Tensor:
    """Real Gaunt coefficients ``∫ Y_{l1 m1} Y_{l2 m2} Y_{l3 m3} dΩ`` of one degree triple.

    Args:
        l1, l2, l3: degrees.
        dtype, device: of the returned tensor (default float64, CPU); computed in float64. A
            non-floating ``dtype`` raises ``TypeError``.

    Returns:
        tensor of shape ``(2l1+1, 2l2+1, 2l3+1)``; all zeros unless ``l1+l2+l3`` is even and the triangle
        inequality holds.

    Example:
        >>> g = gaunt_block(1, 1, 2)
        >>> e = gaunt_constant(1, 1, 2) * e3nn.o3.wigner_3j(1, 1, 2, dtype=torch.float64)  # doctest: +SKIP
    """
    l1, l2, l3 = (_check_degree(n, v) for n, v in (("l1", l1), ("l2", l2), ("l3", l3)))
    return torch.tensor(_gaunt_block_np(l1, l2, l3), dtype=check_table_dtype(dtype), device=device)


def gaunt_paths(lmax1: int, lmax2: int, lmax_out: int) -> list[tuple[int, int, int]]:
    """All degree triples ``(l1, l2, l3)`` with a non-zero Gaunt block (``l1+l2+l3`` even, triangle)."""
    return [
        (l1, l2, l3)
        for l1 in range(lmax1 + 1)
        for l2 in range(lmax2 + 1)
        for l3 in range(lmax_out + 1)
        if _admissible(l1, l2, l3)
    ]


@lru_cache(maxsize=16)
def _gaunt_tensor_np(lmax1: int, lmax2: int, lmax_out: int) -> np.ndarray:
    out = np.zeros(((lmax1 + 1) ** 2, (lmax2 + 1) ** 2, (lmax_out + 1) ** 2))
    for l1, l2, l3 in gaunt_paths(lmax1, lmax2, lmax_out):
        out[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2] = _gaunt_block_np(
            l1, l2, l3
        )
    out.setflags(write=False)
    return out


def gaunt_tensor(lmax1: int, lmax2: int, lmax_out: int, dtype=None, device=None) -> torch.Tensor:
    """Dense Gaunt tensor ``G[i, j, k]`` over all coefficients up to the given degrees (e3nn ordering).

    ``(x1 ⊗ x2) · G`` are the SH coefficients (up to ``lmax_out``) of the product of the functions with
    coefficients ``x1`` and ``x2``. Built once in float64 (cached), O(L⁶) memory: a reference, not a
    fast path.

    Returns:
        tensor of shape ``((lmax1+1)², (lmax2+1)², (lmax_out+1)²)``.
    """
    lmax1, lmax2, lmax_out = (
        _check_degree(n, v) for n, v in (("lmax1", lmax1), ("lmax2", lmax2), ("lmax_out", lmax_out))
    )
    dtype = check_table_dtype(dtype)
    return torch.tensor(_gaunt_tensor_np(lmax1, lmax2, lmax_out), dtype=dtype, device=device)
