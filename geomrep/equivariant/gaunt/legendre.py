"""Normalised associated Legendre functions in the polar angle, in e3nn's real-SH convention.

e3nn's real spherical harmonics of degree ``l`` (``normalization="integral"``) on the unit vector
``r = (sin β sin α, cos β, sin β cos α)`` (the *y* axis is the polar axis) factor as

.. math:: Y_{l m}(\\beta, \\alpha) = s_m(\\alpha)\\, q_{l |m|}(\\beta),\\qquad
   s_m(\\alpha) = \\begin{cases} \\sqrt2 \\sin(|m|\\alpha) & m < 0 \\\\ 1 & m = 0 \\\\
   \\sqrt2 \\cos(m\\alpha) & m > 0 \\end{cases}

where :math:`q_{lk}(\\beta) = P^k_l(\\cos\\beta)\\,\\sqrt{(2l+1)(l-k)!/(4\\pi (l+k)!)}` uses the associated
Legendre function *without* the Condon–Shortley phase, so that
:math:`2\\pi\\int_0^\\pi q_{lk}^2 \\sin\\beta\\, d\\beta = 1`. They are evaluated with the standard stable
three-term recurrence in float64, which stays accurate far beyond e3nn's polynomial harmonics (l ≤ 12).
As functions of β on the whole circle, :math:`q_{lk}` is a trigonometric polynomial of degree ``l``:
a cosine series when ``k`` is even and a sine series when ``k`` is odd.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["polar_legendre", "sh_index", "sh_degrees_orders", "azimuthal_basis"]


def sh_index(l: int, m: int) -> int:  # noqa: E741
    """Position of ``(l, m)`` in e3nn's ordering of real SH coefficients: ``l² + l + m``."""
    return l * l + l + m


def sh_degrees_orders(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Degrees and orders of the ``(lmax+1)²`` real SH coefficients in e3nn's ordering.

    Returns:
        ``(l, m)`` integer arrays of shape ``((lmax+1)²,)``.
    """
    ls = np.concatenate([np.full(2 * l + 1, l) for l in range(lmax + 1)])  # noqa: E741
    ms = np.concatenate([np.arange(-l, l + 1) for l in range(lmax + 1)])  # noqa: E741
    return ls, ms


def polar_legendre(lmax: int, beta) -> np.ndarray:
    """Polar factors :math:`q_{lk}(\\beta)` of e3nn's real spherical harmonics, float64.

    Args:
        lmax: largest degree (≥ 0).
        beta: polar angles, array-like of shape ``(n,)`` (any real values: the functions are
            evaluated as trigonometric polynomials on the whole circle).

    Returns:
        array ``q`` of shape ``(lmax+1, lmax+1, n)`` with ``q[l, k] = q_{lk}(β)`` for ``k ≤ l`` and 0 for
        ``k > l``.

    Example:
        >>> q = polar_legendre(2, np.array([0.3]))
        >>> bool(abs(q[0, 0, 0] - 1 / (4 * np.pi) ** 0.5) < 1e-15)
        True
    """
    if lmax < 0:
        raise ValueError(f"lmax must be >= 0, got {lmax}")
    beta = np.asarray(beta, dtype=np.float64).reshape(-1)
    c, s = np.cos(beta), np.sin(beta)
    q = np.zeros((lmax + 1, lmax + 1, beta.size))
    # normalised over [-1, 1] first (P̄_0^0 = 1/√2), divided by √(2π) at the end
    q[0, 0] = 1.0 / math.sqrt(2.0)
    for k in range(1, lmax + 1):
        q[k, k] = math.sqrt((2 * k + 1) / (2 * k)) * s * q[k - 1, k - 1]
    for k in range(lmax):
        q[k + 1, k] = math.sqrt(2 * k + 3) * c * q[k, k]
        for l in range(k + 2, lmax + 1):  # noqa: E741
            a = math.sqrt((4 * l * l - 1) / (l * l - k * k))
            b = math.sqrt(((l - 1) ** 2 - k * k) / (4 * (l - 1) ** 2 - 1))
            q[l, k] = a * (c * q[l - 1, k] - b * q[l - 2, k])
    return q / math.sqrt(2.0 * math.pi)


def azimuthal_basis(lmax: int, alpha) -> np.ndarray:
    """Azimuthal factors :math:`s_m(\\alpha)` for ``m = -lmax … lmax``, float64, shape ``(2lmax+1, n)``."""
    alpha = np.asarray(alpha, dtype=np.float64).reshape(-1)
    out = np.ones((2 * lmax + 1, alpha.size))
    for k in range(1, lmax + 1):
        out[lmax + k] = math.sqrt(2.0) * np.cos(k * alpha)
        out[lmax - k] = math.sqrt(2.0) * np.sin(k * alpha)
    return out
